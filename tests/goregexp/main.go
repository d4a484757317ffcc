// Reads JSON lines {"pattern","value"}; writes {"error","match"} per line: Go's regexp,
// as the API server compiles and matches CRD patterns.
package main

import (
	"bufio"
	"encoding/json"
	"os"
	"regexp"
)

type question struct {
	Pattern string `json:"pattern"`
	Value   string `json:"value"`
}

type answer struct {
	Error string `json:"error"`
	Match bool   `json:"match"`
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<26)
	out := json.NewEncoder(os.Stdout)
	for in.Scan() {
		var q question
		if err := json.Unmarshal(in.Bytes(), &q); err != nil {
			panic(err)
		}
		var a answer
		if re, err := regexp.Compile(q.Pattern); err != nil {
			a.Error = err.Error()
		} else {
			a.Match = re.MatchString(q.Value)
		}
		if err := out.Encode(a); err != nil {
			panic(err)
		}
	}
}
