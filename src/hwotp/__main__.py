from hwotp.cli import main

main()
