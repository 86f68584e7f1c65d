from loco_tui.cli import main

main()
