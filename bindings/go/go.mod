module invar.dev/invar

go 1.19
