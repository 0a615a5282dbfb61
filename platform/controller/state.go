package controller

// RaftState is this controller's raft state: "Leader", "Follower",
// "Candidate" or "Shutdown" (for metrics).
func (c *Controller) RaftState() string { return c.raft.State().String() }
