package restarttest_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/reauth/reauth/restart/restarttest"
)

// TestSessionPersistence: a Tomcat node with a persisting <Manager> writes its sessions to
// SESSIONS.ser on a clean stop and restores (and deletes) them at start, so a restart alone
// does not log anyone out; with pathname="" or a non-Tomcat product, nothing survives.
func TestSessionPersistence(t *testing.T) {
	bin := restarttest.BuildSimnode(t)

	// restart logs alice in, restarts the node and reports whether her old session cookie
	// still works, and whether SESSIONS.ser existed while the node was down.
	restart := func(t *testing.T, cfg restarttest.Config, whileDown func()) (accepted, saved bool) {
		t.Helper()
		dir := filepath.Dir(cfg.Pidfile)
		node := restarttest.StartNode(t, bin, dir, cfg)
		restarttest.WaitState(t, node.URL(), "RUNNING", 15*time.Second)
		alice := restarttest.NewBrowser(t, cfg.Product)
		alice.Login(t, node.URL(), "alice", false)
		old := alice.SessionCookies()
		node.Stop(t)
		saved = fileExists(t, restarttest.SessionsFile(cfg.InstallDir))
		if whileDown != nil {
			whileDown()
		}
		node = restarttest.StartNode(t, bin, dir, cfg)
		restarttest.WaitState(t, node.URL(), "RUNNING", 15*time.Second)
		code, err := restarttest.Replay(node.URL(), old...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { node.Stop(t) })
		return code == 200, saved
	}
	newConfig := func(t *testing.T, product, manager string) restarttest.Config {
		dir := t.TempDir()
		cfg := nodeConfig(t, product, "node1", "127.0.0.5", dir)
		cfg.Starting = 200 * time.Millisecond
		cfg.Stopping = 50 * time.Millisecond
		if manager != "-" {
			restarttest.WriteServerXML(t, cfg.InstallDir, manager)
		}
		return cfg
	}

	for _, product := range []string{"jira", "confluence", "bamboo"} {
		t.Run(product+"/persisting Manager", func(t *testing.T) {
			t.Parallel()
			cfg := newConfig(t, product, restarttest.ManagerPersist)
			accepted, saved := restart(t, cfg, nil)
			if !saved || !accepted {
				t.Errorf("SESSIONS.ser written: %v, old session accepted after restart: %v; want both", saved, accepted)
			}
			if fileExists(t, restarttest.SessionsFile(cfg.InstallDir)) {
				t.Error("SESSIONS.ser still there after the start restored it")
			}
		})
	}
	t.Run("jira/SESSIONS.ser removed while stopped", func(t *testing.T) {
		t.Parallel()
		cfg := newConfig(t, "jira", restarttest.ManagerPersist)
		accepted, saved := restart(t, cfg, func() {
			if err := os.Remove(restarttest.SessionsFile(cfg.InstallDir)); err != nil {
				t.Fatal(err)
			}
		})
		if !saved || accepted {
			t.Errorf("SESSIONS.ser written: %v, old session accepted: %v; want true, false", saved, accepted)
		}
	})
	for name, c := range map[string]struct {
		product, manager string
		withoutManager   bool
		want             bool
	}{
		"jira/pathname empty":               {"jira", restarttest.ManagerOff, false, false},
		"jira/no Manager":                   {"jira", "", false, false},
		"jira/no Manager, Tomcat default":   {"jira", "", true, true},
		"jira/pathname empty beats default": {"jira", restarttest.ManagerOff, true, false},
		"jira/no conf dir":                  {"jira", "-", true, false},
		"bitbucket/not Tomcat":              {"bitbucket", restarttest.ManagerPersist, false, false},
		"fisheye/not Tomcat":                {"fisheye", restarttest.ManagerPersist, false, false},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg := newConfig(t, c.product, c.manager)
			cfg.PersistWithoutManager = c.withoutManager
			accepted, saved := restart(t, cfg, nil)
			if accepted != c.want || saved != c.want {
				t.Errorf("SESSIONS.ser written: %v, old session accepted: %v; want %v", saved, accepted, c.want)
			}
		})
	}
	t.Run("jira/a file left behind is not read without a persisting Manager", func(t *testing.T) {
		t.Parallel()
		cfg := newConfig(t, "jira", restarttest.ManagerPersist)
		accepted, saved := restart(t, cfg, func() {
			restarttest.WriteServerXML(t, cfg.InstallDir, restarttest.ManagerOff)
		})
		if !saved || accepted {
			t.Errorf("SESSIONS.ser written: %v, old session accepted: %v; want true, false", saved, accepted)
		}
		if !fileExists(t, restarttest.SessionsFile(cfg.InstallDir)) {
			t.Error("SESSIONS.ser deleted by a node that does not persist sessions")
		}
	})
}
