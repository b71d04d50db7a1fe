"""Code written in workcraft 0.5.27's style (our own, same API): run by our peon, and the
enqueue script run by 0.5.27 itself in its own virtual environment."""
