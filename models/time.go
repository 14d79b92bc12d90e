package models

import (
	"time"
	_ "time/tzdata" // Europe/Paris must not depend on the host's zoneinfo
)

// Paris is the time zone every time is entered and shown in.
var Paris = mustLoad("Europe/Paris")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}
