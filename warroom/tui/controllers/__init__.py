"""The console's flows, one object each (incident, health, mitigation): each holds its
flow's state, runs its workers and posts messages; none of them touches a widget. The app
wires them to the panes (see warroom.tui.app)."""
