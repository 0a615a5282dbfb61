// Command flatten is a Sluice processor plugin that expands a JSON array in
// each record into one record per element (a flat-map), so that an order
// with three items reaches the consumer as three item records, each tied to
// the order's offset.
//
// Parameters:
//
//	field      required; the array to expand, dotted for nesting ("order.items")
//	key-field  optional; a field of each element whose text becomes the
//	           output's key (default: the input record's key)
//	missing    "drop" (default) or "keep": what to do with records whose
//	           value has no such array
//
// Every output carries the header "flatten-index" with the element's
// position, and the input's timestamp and other headers.
package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/sdk"
	"github.com/sluicehq/sluice/sdk/jsonscan"
)

var (
	arrayPath []string
	keyPath   []string
	keep      bool
)

func init() {
	sdk.OnInit(setup)
	sdk.HandleProcess(process)
}

func setup() error {
	field, err := sdk.RequireParam("field")
	if err != nil {
		return err
	}
	arrayPath = strings.Split(field, ".")
	keyPath = nil
	if k := sdk.Param("key-field"); k != "" {
		keyPath = strings.Split(k, ".")
	}
	switch m := sdk.Param("missing"); m {
	case "", "drop":
		keep = false
	case "keep":
		keep = true
	default:
		return fmt.Errorf(`parameter missing=%q: want "drop" or "keep"`, m)
	}
	return nil
}

func process(r sdk.Record, emit func(sdk.Record)) error {
	arr, ok := jsonscan.Get(r.Value, arrayPath...)
	if !ok || len(arr) == 0 || arr[0] != '[' {
		if keep {
			emit(r)
		}
		return nil
	}
	headers := r.Headers
	i := 0
	wellFormed := jsonscan.Each(arr, func(elem []byte) bool {
		out := r
		out.Value = elem
		if keyPath != nil {
			if k, ok := jsonscan.Get(elem, keyPath...); ok {
				out.Key = jsonscan.Text(k)
			}
		}
		out.Headers = append(headers[:len(headers):len(headers)],
			sdk.Header{Key: "flatten-index", Value: strconv.AppendInt(nil, int64(i), 10)})
		emit(out)
		i++
		return true
	})
	if !wellFormed {
		return fmt.Errorf("field %q is not a well-formed JSON array", strings.Join(arrayPath, "."))
	}
	return nil
}

func main() {}
