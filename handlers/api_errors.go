package handlers

import (
	"errors"
	"net/http"

	"github.com/dnum-sociaux/agora/models"
)

// modelErrorText gives the API's French detail and status for the models'
// business errors (0 when err is none of them).
func modelErrorText(err error) (string, int) {
	switch {
	case errors.Is(err, models.ErrGroupFull):
		return "Le groupe a atteint son nombre maximal de membres.", http.StatusConflict
	case errors.Is(err, models.ErrJoinPolicy):
		return "Les règles d'adhésion de ce groupe ne permettent pas cette action (adhésion sur demande ou sur invitation).", http.StatusForbidden
	case errors.Is(err, models.ErrLastOrganiser):
		return "Un groupe garde au moins un organisateur : nommez-en un autre avant de partir.", http.StatusConflict
	case errors.Is(err, models.ErrAlreadyMember):
		return "Vous êtes déjà membre de ce groupe.", http.StatusConflict
	case errors.Is(err, models.ErrGroupInactive):
		return "Ce groupe n'est pas actif (proposé, archivé ou refusé).", http.StatusConflict
	case errors.Is(err, models.ErrNotMember):
		return "Cette action est réservée aux membres du groupe.", http.StatusForbidden
	case errors.Is(err, models.ErrLimitBelowMembers):
		return "Le nombre maximal de membres ne peut pas être inférieur au nombre actuel de membres.", http.StatusConflict
	}
	return "", 0
}
