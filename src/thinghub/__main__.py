from thinghub.cli import main

main()
