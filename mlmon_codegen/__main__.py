from mlmon_codegen.cli.main import main

main()
