// Command peer runs one franz-go or sarama scenario against a broker and prints one JSON object per stdout line
// (the events tests/support/go.ts reads). Usage: peer SCENARIO [flags]. Each scenario lives in its own file and
// registers itself in init, so scenarios can be added without touching this file.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"sync"
)

var scenarios = map[string]func(args []string) error{}

// register adds a scenario under name.
func register(name string, run func(args []string) error) {
	if _, dup := scenarios[name]; dup {
		panic("duplicate scenario " + name)
	}
	scenarios[name] = run
}

var emitMu sync.Mutex

// emit prints {"event": event, k1: v1, ...} on one stdout line.
func emit(event string, kv ...any) {
	m := map[string]any{"event": event}
	for i := 0; i+1 < len(kv); i += 2 {
		m[fmt.Sprint(kv[i])] = kv[i+1]
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	emitMu.Lock()
	defer emitMu.Unlock()
	os.Stdout.Write(append(b, '\n'))
}

func main() {
	if len(os.Args) < 2 || scenarios[os.Args[1]] == nil {
		names := make([]string, 0, len(scenarios))
		for n := range scenarios {
			names = append(names, n)
		}
		sort.Strings(names)
		fmt.Fprintf(os.Stderr, "usage: peer SCENARIO [flags]; scenarios: %v\n", names)
		os.Exit(2)
	}
	if err := scenarios[os.Args[1]](os.Args[2:]); err != nil {
		emit("error", "message", err.Error())
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}
