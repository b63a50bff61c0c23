module integr8scode/executor-runner

go 1.22
