module github.com/agentlog/agentlog/sdks/go

go 1.21
