module cdsts/gotemplate-oracle

go 1.22
