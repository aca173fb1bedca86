from icsys.cli import main

main()
