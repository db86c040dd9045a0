"""The in-app source viewer: `viewer.SourceViewer` opens an answer's sources
(`source.ViewerSource`) at the cited passage, highlighted."""
