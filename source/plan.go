package source

// PlanKind says what `cdc run` would do with one object.
type PlanKind string

// The plan kinds. Create and Alter are pending changes; the others are
// information.
const (
	PlanCreate PlanKind = "create" // run would create it
	PlanAlter  PlanKind = "alter"  // run would change it
	PlanKeep   PlanKind = "keep"   // exists as run wants it
	PlanLater  PlanKind = "later"  // created when first needed (a table's topic at its first event)
	PlanDrift  PlanKind = "drift"  // exists but serves nothing, or is not as cdc wants it; run leaves it alone
)

// PlanStep is one line of `cdc plan`: an object and what run would do with
// it. SQL, when set, is the statement run would execute.
type PlanStep struct {
	Kind   PlanKind
	Object string // "slot cdc_shop", "topic shop.public.orders"
	Detail string
	SQL    string
}

// Pending reports whether a step is a change run would make.
func (s PlanStep) Pending() bool { return s.Kind == PlanCreate || s.Kind == PlanAlter }
