// The Go standard library's answers, for tests that hold cnpg-render's readings beside
// the ones the API server (regexp) and the CNPG operator (strconv.Atoi and
// time.ParseDuration, through robfig/cron) make. Reads JSON lines {"kind", "text",
// "value"}; writes one JSON line {"error", "match", "number"} for each.
package main

import (
	"bufio"
	"encoding/json"
	"os"
	"regexp"
	"strconv"
	"time"
)

type question struct {
	Kind  string `json:"kind"` // regexp (text is the pattern, value the string), atoi, duration
	Text  string `json:"text"`
	Value string `json:"value"`
}

type answer struct {
	Error  string `json:"error"`
	Match  bool   `json:"match"`
	Number int64  `json:"number"` // atoi: the integer; duration: microseconds
}

func ask(q question) (a answer) {
	var err error
	switch q.Kind {
	case "regexp":
		var re *regexp.Regexp
		if re, err = regexp.Compile(q.Text); err == nil {
			a.Match = re.MatchString(q.Value)
		}
	case "atoi":
		var n int
		n, err = strconv.Atoi(q.Text)
		a.Number = int64(n)
	case "duration":
		var d time.Duration
		d, err = time.ParseDuration(q.Text)
		a.Number = d.Microseconds()
	default:
		panic("unknown kind " + q.Kind)
	}
	if err != nil {
		a.Error = err.Error()
	}
	return a
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
		if err := out.Encode(ask(q)); err != nil {
			panic(err)
		}
	}
}
