// PLACEHOLDER — the tracking module makes this install MLflow (venv) and check for Chromium.
