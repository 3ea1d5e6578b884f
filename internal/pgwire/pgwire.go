// Package pgwire counts what a PostgreSQL client asks of its server, read
// off the wire protocol of one or more connections: round trips and
// durable commits. The driver's tests hold migrate to one of each per
// migration with it, and bench/pgcount counts the same for any tool.
//
// Written by hand because it reads only message frames, command tags and
// transaction status: a protocol library would decode everything else, and
// would have to sit inside the client being measured.
package pgwire

import (
	"context"
	"encoding/binary"
	"net"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5/pgconn"
)

// Counts is what the connections of one Counter have done so far.
type Counts struct {
	// RoundTrips are the times a client waited for the server: every
	// simple Query and every Sync of the extended protocol ends in a
	// ReadyForQuery the client waits for. Pings are not included.
	RoundTrips int
	// Pings are the liveness checks pgx sends (the query "-- ping") before
	// reusing a connection; they belong to no migration.
	Pings int
	// Commits are the transactions that ran a writing command and ended
	// committed: each is a durable flush of the write-ahead log. An
	// implicit transaction (statements sent without BEGIN) counts when its
	// ReadyForQuery comes.
	Commits int
}

// Counter adds up the Counts of every connection it wraps.
type Counter struct {
	mu     sync.Mutex
	counts Counts
}

// Counts returns the totals so far.
func (c *Counter) Counts() Counts {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts
}

func (c *Counter) add(f func(*Counts)) {
	c.mu.Lock()
	f(&c.counts)
	c.mu.Unlock()
}

// Wrap returns conn, a client's connection to the server, counting as it
// goes: what is written on it is read as the frontend stream, what is read
// from it as the backend stream. The connection must not use TLS
// (sslmode=disable, or a server that declines it).
func (c *Counter) Wrap(conn net.Conn) net.Conn {
	return &countingConn{Conn: conn, counter: c}
}

// Dial returns dial counting on every connection it makes: for pgx's
// ConnConfig.DialFunc.
func (c *Counter) Dial(dial pgconn.DialFunc) pgconn.DialFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return c.Wrap(conn), nil
	}
}

type countingConn struct {
	net.Conn
	counter *Counter

	mu sync.Mutex
	// frontend: messages before the startup message have no type byte.
	started bool
	sent    []byte
	// backend: each SSLRequest or GSSENCRequest is answered by one bare
	// byte, outside any message frame.
	bareReplies int
	received    []byte
	// the transaction in progress: it ran a writing command, it failed,
	// its last command was a ROLLBACK.
	wrote, failed, rolledBack bool
}

// Protocol codes of the untyped messages a client may send first.
const (
	sslRequest    = 80877103
	gssEncRequest = 80877104
)

func (c *countingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.sent = append(c.sent, p...)
	for {
		head := 5
		if !c.started {
			head = 4
		}
		if len(c.sent) < head {
			break
		}
		total := head - 4 + int(binary.BigEndian.Uint32(c.sent[head-4:head]))
		if total < head || len(c.sent) < total {
			break
		}
		if c.started {
			c.frontend(c.sent[0], c.sent[5:total])
		} else if total >= 8 {
			switch binary.BigEndian.Uint32(c.sent[4:8]) {
			case sslRequest, gssEncRequest:
				c.bareReplies++
			default:
				c.started = true
			}
		}
		c.sent = c.sent[total:]
	}
	c.mu.Unlock()
	return c.Conn.Write(p)
}

func (c *countingConn) frontend(typ byte, body []byte) {
	switch {
	case typ == 'Q' && string(body) == "-- ping\x00":
		c.counter.add(func(n *Counts) { n.Pings++ })
	case typ == 'Q' || typ == 'S':
		c.counter.add(func(n *Counts) { n.RoundTrips++ })
	}
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	c.received = append(c.received, p[:n]...)
	for {
		if c.bareReplies > 0 && len(c.received) > 0 {
			c.bareReplies--
			c.received = c.received[1:]
			continue
		}
		if len(c.received) < 5 {
			break
		}
		total := 1 + int(binary.BigEndian.Uint32(c.received[1:5]))
		if total < 5 || len(c.received) < total {
			break
		}
		c.backend(c.received[0], c.received[5:total])
		c.received = c.received[total:]
	}
	c.mu.Unlock()
	return n, err
}

func (c *countingConn) backend(typ byte, body []byte) {
	switch typ {
	case 'C': // CommandComplete
		tag, _, _ := strings.Cut(string(body), "\x00")
		verb, _, _ := strings.Cut(tag, " ")
		// ROLLBACK ends the transaction, or returns to a savepoint
		// taken before a failure; ReadyForQuery tells which.
		c.rolledBack = verb == "ROLLBACK"
		if c.rolledBack {
			c.failed = false
		} else if !readOnly[verb] {
			c.wrote = true
		}
	case 'E': // ErrorResponse: the transaction (explicit or implicit) is failed
		c.failed = true
	case 'Z': // ReadyForQuery, with the transaction status
		if len(body) == 1 && body[0] == 'I' {
			if c.wrote && !c.failed && !c.rolledBack {
				c.counter.add(func(n *Counts) { n.Commits++ })
			}
			c.wrote, c.failed, c.rolledBack = false, false, false
		}
	}
}

// readOnly are the first words of command tags that write nothing to the
// log. SELECT is among them though CREATE TABLE AS reports it too: no
// migration tool's bookkeeping uses that.
var readOnly = map[string]bool{
	"SELECT": true, "SHOW": true, "SET": true, "RESET": true, "BEGIN": true,
	"START": true, "COMMIT": true, "SAVEPOINT": true, "RELEASE": true,
	"FETCH": true, "MOVE": true, "DECLARE": true, "CLOSE": true,
	"LISTEN": true, "UNLISTEN": true, "DISCARD": true, "DEALLOCATE": true,
	"PREPARE": true, "EXPLAIN": true,
}
