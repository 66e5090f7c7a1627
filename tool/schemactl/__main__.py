import sys

try:  # Ctrl-C while even the entry point loads: as quiet as anywhere else
    from schemactl.launch import main
except KeyboardInterrupt:
    sys.stderr.write("interrupted\n")
    sys.exit(130)

main()
