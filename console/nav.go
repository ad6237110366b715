package console

// navItem is one entry of the menu.
type navItem struct {
	Section string // matches View.Nav to mark the current one
	Href    string
	Key     string // message key of the label
}

// Menu is the visitor's menu: each role sees its own pages only.
func (v *View) Menu() []navItem {
	switch v.Who.Role {
	case "inspector":
		return []navItem{{"queue", "/queue", "nav.queue"}, {"reviews", "/reviews", "nav.reviews"}, {"calibration", "/calibration", "nav.calibration"}}
	case "supervisor":
		return []navItem{{"inbox", "/inbox", "nav.inbox"}, {"team", "/team", "nav.team"}}
	case "admin":
		return []navItem{
			{"weeks", "/weeks", "nav.weeks"}, {"team", "/team", "nav.reports"},
			{"policy", "/policy", "nav.policy"}, {"checks", "/checks", "nav.checks"}, {"rubrics", "/rubrics", "nav.rubrics"},
			{"inspectors", "/inspectors", "nav.inspectors"}, {"calibration", "/calibration", "nav.calibration"},
			{"disputes", "/disputes", "nav.disputes"},
			{"audit", "/audit", "nav.audit"}, {"access", "/access", "nav.access"},
		}
	}
	return nil
}

// OtherLang is the language the switch offers.
func (v *View) OtherLang() string {
	if v.Lang == langEN {
		return langZH
	}
	return langEN
}

// Here is the address the language switch comes back to: this page, or
// the home page after a form's answer, whose address serves only POSTs.
func (v *View) Here() string {
	if v.R.Method == "GET" || v.R.Method == "HEAD" {
		return v.R.URL.RequestURI()
	}
	return "/"
}
