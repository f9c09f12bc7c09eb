module github.com/backstage/marketplace-sdk-go

go 1.19
