package tokens

import (
	"os"
	"testing"

	"github.com/reauth/reauth/db/dbtest"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }
