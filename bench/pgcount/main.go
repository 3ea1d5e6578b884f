// Command pgcount is a PostgreSQL proxy that counts the round trips and
// durable commits of every client connecting through it, so that
// bench/run.sh can compare migration tools by what they ask of the server.
//
//	pgcount -upstream 127.0.0.1:5432
//
// It prints "listening on ADDR", and on SIGTERM or SIGINT, once its
// clients have gone, one line of counts:
//
//	round_trips=N pings=P commits=C
//
// Clients must not use TLS through it (sslmode=disable).
package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/migrate-dev/migrate/internal/pgwire"
)

func main() {
	upstream := flag.String("upstream", "127.0.0.1:5432", "the PostgreSQL server's host:port")
	listen := flag.String("listen", "127.0.0.1:0", "the address to listen on")
	flag.Parse()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pgcount:", err)
		os.Exit(1)
	}
	fmt.Println("listening on", ln.Addr())

	var counter pgwire.Counter
	var clients sync.WaitGroup
	go func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return // closed at the end
			}
			clients.Go(func() { relay(client, *upstream, &counter) })
		}
	}()

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
	ln.Close()
	// A client that has exited has closed its connections; give the
	// relays a moment to read the last bytes before counting.
	done := make(chan struct{})
	go func() { clients.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		fmt.Fprintln(os.Stderr, "pgcount: clients still connected after 5s; counting what they sent so far")
	}
	n := counter.Counts()
	fmt.Printf("round_trips=%d pings=%d commits=%d\n", n.RoundTrips, n.Pings, n.Commits)
}

// relay joins one client to the server, counting on the server side.
func relay(client net.Conn, upstream string, counter *pgwire.Counter) {
	defer client.Close()
	conn, err := net.Dial("tcp", upstream)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pgcount:", err)
		return
	}
	server := counter.Wrap(conn)
	defer server.Close()
	go func() {
		_, _ = io.Copy(server, client)
		server.Close()
	}()
	_, _ = io.Copy(client, server)
}
