module github.com/backstage/marketplace-e2e

go 1.19

require github.com/backstage/marketplace-sdk-go v0.0.0

replace github.com/backstage/marketplace-sdk-go => ../../sdk/go
