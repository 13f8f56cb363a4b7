from mlmon_codegen.cli import main

main()
