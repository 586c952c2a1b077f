package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"

	sqle "github.com/dolthub/go-mysql-server"
	"github.com/dolthub/go-mysql-server/memory"
	"github.com/dolthub/go-mysql-server/server"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/sirupsen/logrus"
)

// jiraDDL is Jira's remember-me table and user table on MySQL, as products/producttest has
// them (the product's real layout), without ENGINE=InnoDB, which the in-memory engine ignores
// anyway.
const jiraDDL = "CREATE TABLE remembermetoken (ID decimal(18,0) NOT NULL PRIMARY KEY, CREATED datetime, TOKEN varchar(255), USERNAME varchar(255));" +
	"CREATE TABLE app_user (ID decimal(18,0) NOT NULL PRIMARY KEY, user_key varchar(255), lower_user_name varchar(255));"

// dbServer is an in-process MySQL-protocol server (go-mysql-server with its in-memory
// storage) holding one database, listening on a loopback port.
type dbServer struct {
	Name     string // the database
	User     string
	Password string
	Addr     string // 127.0.0.1:port
	srv      *server.Server
	done     chan struct{}
}

// startDB starts the server on 127.0.0.1 (a free port), creates the database with Jira's tables
// and the users user0..user<users-1>, and a login user with every privilege.
func startDB(user, password string, users int) (*dbServer, error) {
	// go-mysql-server logs every connection and slow query through logrus's standard logger.
	logrus.SetOutput(io.Discard)
	const name = "jiradb"
	mdb := memory.NewDatabase(name)
	mdb.BaseDatabase.EnablePrimaryKeyIndexes()
	pro := memory.NewDBProvider(mdb)
	engine := sqle.NewDefault(pro)

	ctx := sql.NewContext(context.Background(), sql.WithSession(memory.NewSession(sql.NewBaseSession(), pro)))
	ctx.SetCurrentDatabase(name)
	stmts := strings.Split(strings.TrimSuffix(jiraDDL, ";"), ";")
	var rows []string
	for i := 0; i < users; i++ {
		// Newer Jira users have keys like JIRAUSER10100: the tokens hold the key, not the name.
		rows = append(rows, fmt.Sprintf("(%d, 'JIRAUSER%d', 'user%d')", 20000+i, 20000+i, i))
	}
	rows = append(rows, "(10000, 'admin', 'admin')")
	stmts = append(stmts, "INSERT INTO app_user (ID, user_key, lower_user_name) VALUES "+strings.Join(rows, ", "))
	for _, q := range stmts {
		if err := execLocal(ctx, engine, q); err != nil {
			return nil, fmt.Errorf("embedded database: %s: %w", q, err)
		}
	}
	// Enabling the mysql database makes the server check logins; the only account is ours.
	ed := engine.Analyzer.Catalog.MySQLDb.Editor()
	engine.Analyzer.Catalog.MySQLDb.AddSuperUser(ed, user, "%", password)
	ed.Close()

	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("embedded database: %w", err)
	}
	cfg := server.Config{Protocol: "tcp", Address: ln.Addr().String(), Listener: ln}
	srv, err := server.NewServer(cfg, engine, sql.NewContext, memory.NewSessionBuilder(pro), nil)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("embedded database: %w", err)
	}
	d := &dbServer{Name: name, User: user, Password: password, Addr: ln.Addr().String(), srv: srv, done: make(chan struct{})}
	go func() {
		defer close(d.done)
		_ = srv.Start()
	}()
	return d, nil
}

func execLocal(ctx *sql.Context, e *sqle.Engine, q string) error {
	_, iter, _, err := e.Query(ctx, q)
	if err != nil {
		return err
	}
	_, err = sql.RowIterToRows(ctx, iter)
	return err
}

// Close stops the server.
func (d *dbServer) Close() {
	if d == nil || d.srv == nil {
		return
	}
	_ = d.srv.Close()
	<-d.done
}

// JDBC is the URL as Jira's dbconfig.xml would hold it.
func (d *dbServer) JDBC() string {
	return fmt.Sprintf("jdbc:mysql://%s/%s?useUnicode=true&characterEncoding=UTF8", d.Addr, d.Name)
}

// DSN is go-sql-driver/mysql's DSN for the simulated nodes (it holds the password: it goes
// into a 0600 file, never into arguments).
func (d *dbServer) DSN() string {
	return fmt.Sprintf("%s:%s@tcp(%s)/%s?parseTime=true&loc=UTC", d.User, d.Password, d.Addr, d.Name)
}
