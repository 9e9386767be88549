"""Report building and rendering (HTML, PDF, exports). No Flask import here."""
