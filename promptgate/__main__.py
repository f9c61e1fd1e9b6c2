from promptgate.cli.app import main

main()
