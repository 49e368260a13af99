module github.com/pulsekit/go

go 1.22
