from schemactl.launch import main

main()
