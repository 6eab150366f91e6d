from bikes.scripts import main

main()
