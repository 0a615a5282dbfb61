package controller

// watchHalt stops raft when the state machine halts on a corrupt entry
// (fsm.halt): a controller whose state stopped at a known-bad entry must
// neither vote nor lead. raft cannot be shut down from inside FSM.Apply
// (Shutdown waits for the FSM goroutine), hence this goroutine. The last
// good metadata stays readable (Metadata, Watch), the broker on this node
// keeps serving it, and Halted reports the error (the node's health says
// controller_halted).
func (c *Controller) watchHalt() {
	defer c.wg.Done()
	select {
	case <-c.fsm.haltCh:
	case <-c.shutdown:
		return
	}
	c.cfg.Logger.Error("controller halted: raft stopped on this node; the node serves the last good metadata",
		"version", c.fsm.state.Load().Version, "err", c.fsm.haltErr())
	if err := c.raft.Shutdown().Error(); err != nil {
		c.cfg.Logger.Error("stop raft after halt", "err", err)
	}
}

// Halted returns the error that stopped this controller's state machine (a
// raft entry that failed its checksum or strict decoding, wrapping
// ErrCorruptMetadata and naming the entry's index and term), or nil.
func (c *Controller) Halted() error { return c.fsm.haltErr() }
