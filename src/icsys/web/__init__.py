"""The one Django project of icsys: settings, URLs, the middleware that turns the signed-in user into an
`icsys.access.Actor`, and serving. Apps (care; the dashboards next) hang off it."""
