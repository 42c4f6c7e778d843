"""The project's clip list (a Qt model over meldae.project.Project) and the demo project."""
