package main

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// session is one HTTP session, held in memory like a servlet container's.
type session struct {
	ID      string    `json:"id"`
	User    string    `json:"user"`
	Created time.Time `json:"created"`
}

type sessions struct {
	mu   sync.Mutex
	byID map[string]session
}

func newSessions() *sessions { return &sessions{byID: map[string]session{}} }

func (s *sessions) create(user string) session {
	sess := session{ID: strings.ToUpper(randomText(32)), User: user, Created: time.Now().UTC()}
	s.mu.Lock()
	s.byID[sess.ID] = sess
	s.mu.Unlock()
	return sess
}

func (s *sessions) get(id string) (session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.byID[id]
	return sess, ok
}

// dropUser ends every session of a login name and says how many there were.
func (s *sessions) dropUser(user string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for id, sess := range s.byID {
		if strings.EqualFold(sess.User, user) {
			delete(s.byID, id)
			n++
		}
	}
	return n
}

func (s *sessions) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byID)
}

// sessionFile is what SESSIONS.ser holds here: JSON, not Java serialization.
type sessionFile struct {
	Format   string    `json:"format"`
	Node     string    `json:"node"`
	Saved    time.Time `json:"saved"`
	Sessions []session `json:"sessions"`
}

const sessionFormat = "simnode-sessions/1"

// save writes every session to path, as StandardManager does on a clean stop.
func (s *sessions) save(path, node string) (int, error) {
	s.mu.Lock()
	f := sessionFile{Format: sessionFormat, Node: node, Saved: time.Now().UTC()}
	for _, sess := range s.byID {
		f.Sessions = append(f.Sessions, sess)
	}
	s.mu.Unlock()
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return 0, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return 0, err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return 0, err
	}
	return len(f.Sessions), os.Rename(tmp, path)
}

// load restores the sessions saved in path and deletes the file, as StandardManager does at
// start-up (it deletes the file even when reading it failed). A missing file is no error.
func (s *sessions) load(path string) (int, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	rmErr := os.Remove(path)
	var f sessionFile
	if err := json.Unmarshal(data, &f); err != nil || f.Format != sessionFormat {
		return 0, errors.Join(fmt.Errorf("%s: not a session file of simnode", path), rmErr)
	}
	s.mu.Lock()
	for _, sess := range f.Sessions {
		s.byID[sess.ID] = sess
	}
	s.mu.Unlock()
	return len(f.Sessions), rmErr
}

// sessionsDir is the ROOT context's work directory, relative to the install dir: where a
// relative pathname puts the sessions file.
const sessionsDir = "work/Catalina/localhost/ROOT"

// persistence decides, as Tomcat does, whether sessions survive a clean restart: a <Manager>
// element in conf/server.xml or conf/context.xml without pathname="" persists them to its
// pathname (default SESSIONS.ser, relative to the context's work directory). It returns the
// file's path, or "" when nothing persists, and a reason for the log.
func persistence(cfg *config) (path, why string) {
	if !cfg.product.tomcat {
		return "", cfg.Product + " is not a standalone Tomcat: no session persistence"
	}
	if cfg.InstallDir == "" {
		return "", "no install_dir: no session persistence"
	}
	confFound := false
	for _, name := range []string{"conf/server.xml", "conf/context.xml"} {
		file := filepath.Join(cfg.InstallDir, name)
		data, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		confFound = true
		pathname, found, err := managerPathname(data)
		if err != nil {
			return "", fmt.Sprintf("%s: %v: no session persistence", file, err)
		}
		if found && pathname != "" {
			return sessionPath(cfg.InstallDir, pathname), fmt.Sprintf("%s has a persisting <Manager>", file)
		}
		if found {
			return "", fmt.Sprintf(`%s has <Manager pathname="">: no session persistence`, file)
		}
	}
	if confFound && cfg.PersistWithoutManager {
		return sessionPath(cfg.InstallDir, "SESSIONS.ser"), "no <Manager> element: Tomcat's default StandardManager persists"
	}
	return "", "no <Manager> element: no session persistence"
}

func sessionPath(installDir, pathname string) string {
	if filepath.IsAbs(pathname) {
		return pathname
	}
	return filepath.Join(installDir, sessionsDir, pathname)
}

// managerPathname finds the first <Manager> element outside comments and its pathname
// attribute (SESSIONS.ser when absent).
func managerPathname(data []byte) (pathname string, found bool, err error) {
	dec := xml.NewDecoder(strings.NewReader(string(data)))
	dec.Strict = false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return "", false, nil
		}
		if err != nil {
			return "", false, err
		}
		el, ok := tok.(xml.StartElement)
		if !ok || el.Name.Local != "Manager" {
			continue
		}
		for _, a := range el.Attr {
			if a.Name.Local == "pathname" {
				return a.Value, true, nil
			}
		}
		return "SESSIONS.ser", true, nil
	}
}
