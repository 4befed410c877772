from anomalygen.cli import main

main()
