"""The `pullprint` command line: the service, printing, jobs, install, the demo."""
