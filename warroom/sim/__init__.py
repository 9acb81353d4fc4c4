"""The demo and drill simulator: a simulated production served over real protocols on loopback."""
