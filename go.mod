module github.com/dnum-sociaux/agora

go 1.26
