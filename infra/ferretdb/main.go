// Command ferretdb runs FerretDB v1.24 (a MongoDB-wire server) for the local stack, through FerretDB's
// embeddable package.
//
// Why not `go install github.com/FerretDB/FerretDB/cmd/ferretdb`: its build/version package panics when
// the binary's main module is FerretDB itself and build/version/version.txt is missing, which is the
// case for a module-proxy download. The embeddable package (github.com/FerretDB/FerretDB/ferretdb) skips
// that check, and it never creates a telemetry reporter: it locks telemetry off in its state provider.
// The stack still passes --telemetry=disable and DO_NOT_TRACK=1, and this command refuses any other
// telemetry setting, so nothing here can call out to the internet.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen-addr", "127.0.0.1:27117", "TCP address to listen on")
	handler := flag.String("handler", "sqlite", "backend: sqlite or postgresql")
	sqliteURL := flag.String("sqlite-url", "file:data/", "SQLite backend directory URL (ends with /)")
	postgresqlURL := flag.String("postgresql-url", "", "PostgreSQL backend URL")
	telemetry := flag.String("telemetry", "disable", "must be disable")
	flag.Parse()

	logger := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{
		Level: slog.LevelInfo,
		// The project's log keys: time, level, service, event, message.
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.MessageKey {
				a.Key = "message"
			}
			return a
		},
	})).With("service", "ferretdb")

	if *telemetry != "disable" {
		logger.Error("refusing to start", "event", "config.invalid", "reason", "--telemetry must be disable")
		os.Exit(2)
	}

	db, err := ferretdb.New(&ferretdb.Config{
		Listener:      ferretdb.ListenerConfig{TCP: *listen},
		Logger:        logger,
		Handler:       *handler,
		SQLiteURL:     *sqliteURL,
		PostgreSQLURL: *postgresqlURL,
	})
	if err != nil {
		logger.Error(fmt.Sprintf("cannot start: %s", err), "event", "start.failed")
		os.Exit(1)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	logger.Info("listening on "+*listen, "event", "start.listening", "handler", *handler)
	if err := db.Run(ctx); err != nil {
		logger.Error(fmt.Sprintf("stopped with error: %s", err), "event", "stop.failed")
		os.Exit(1)
	}
	logger.Info("stopped", "event", "stop.done")
}
