//go:build e2e

package e2e

import (
	"strings"
	"testing"
	"time"
)

// `cdc check` binds the routes to the captured tables as the catalog has
// them: a route column the table lacks is reported (where `cdc run` would
// dead-letter every change of the table), on both databases; routes that
// fit pass.
func TestCheckRouteColumns(t *testing.T) {
	const badRoutes = `routes:
  - table: "%s.t"
    key: [customer_id]
    exclude: [nope]
`
	const goodRoutes = `routes:
  - table: "%s.t"
    key: [id, v]
    exclude: [extra]
`
	dbs := map[string]func(t *testing.T, name string) func(routes string) string{
		"postgres": func(t *testing.T, name string) func(string) string {
			db := pgConnect(t)
			pgExec(t, db, "CREATE SCHEMA "+name, "CREATE TABLE "+name+".t (id int PRIMARY KEY, v text, extra text)")
			t.Cleanup(func() { pgExec(t, pgConnect(t), "DROP SCHEMA "+name+" CASCADE") })
			return func(routes string) string { return pgConfig(name, "") + strings.ReplaceAll(routes, "%s", name) }
		},
		"mariadb": func(t *testing.T, name string) func(string) string {
			db := myConnect(t)
			myDatabase(t, db, name)
			myExec(t, db, "CREATE TABLE "+name+".t (id int PRIMARY KEY, v varchar(20), extra text)")
			return func(routes string) string {
				return myConfig(name, newServerID(), "") + strings.ReplaceAll(routes, "%s", name)
			}
		},
	}
	for flavor, setup := range dbs {
		t.Run(flavor, func(t *testing.T) {
			config := setup(t, uniq("chkroute"))
			code, stdout, stderr := runCDC(t, 60*time.Second, nil, "check", "-c", writeConfig(t, config(badRoutes)))
			if code != 1 || !strings.Contains(stdout, `key column "customer_id" does not exist (columns: id, v, extra)`) ||
				!strings.Contains(stdout, `excluded column "nope" does not exist`) {
				t.Errorf("check with routes that do not fit: exit %d; stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
			}
			code, stdout, stderr = runCDC(t, 60*time.Second, nil, "check", "-c", writeConfig(t, config(goodRoutes)))
			if code != 0 {
				t.Errorf("check with routes that fit: exit %d; stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
			}
		})
	}
}
