from warroom.cli import entry_point

entry_point()
