module github.com/cdc-go/cdc

go 1.26.8
