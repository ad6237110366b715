package console

import (
	"net/http"
	"sync"

	"golang.org/x/text/language"
)

// The console speaks Simplified Chinese by default and English on request.
const (
	langZH     = "zh-CN"
	langEN     = "en"
	langCookie = "qa_lang"
)

var (
	catalogMu sync.RWMutex
	// catalog maps a message key to its text in zh-CN and en.
	catalog = map[string][2]string{}
)

// register adds an area's messages. Each key lives in exactly one file, so
// a label is translated in one place; a duplicate key is a programming
// error caught at start.
func register(msgs map[string][2]string) {
	catalogMu.Lock()
	defer catalogMu.Unlock()
	for k, v := range msgs {
		if _, dup := catalog[k]; dup {
			panic("console: message " + k + " registered twice")
		}
		catalog[k] = v
	}
}

// translate returns key's text in lang. A missing key shows as the key
// itself, which the catalogue test catches before it ships.
func translate(lang, key string) string {
	catalogMu.RLock()
	m, ok := catalog[key]
	catalogMu.RUnlock()
	if !ok {
		return key
	}
	if lang == langEN {
		return m[1]
	}
	return m[0]
}

var languageMatcher = language.NewMatcher([]language.Tag{language.SimplifiedChinese, language.English})

// languageOf picks the visitor's language: ?lang=, then the qa_lang
// cookie, then Accept-Language, then Chinese.
func languageOf(r *http.Request) string {
	switch r.URL.Query().Get("lang") {
	case langEN:
		return langEN
	case langZH:
		return langZH
	}
	if c, err := r.Cookie(langCookie); err == nil {
		if c.Value == langEN {
			return langEN
		}
		if c.Value == langZH {
			return langZH
		}
	}
	if al := r.Header.Get("Accept-Language"); al != "" {
		tags, _, err := language.ParseAcceptLanguage(al)
		if err == nil && len(tags) > 0 {
			_, idx, conf := languageMatcher.Match(tags...)
			if conf != language.No && idx == 1 {
				return langEN
			}
		}
	}
	return langZH
}
