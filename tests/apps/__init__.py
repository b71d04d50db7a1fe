"""Small workcraft apps that the peon processes started by the tests import."""
