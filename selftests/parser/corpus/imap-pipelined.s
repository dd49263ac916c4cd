2* ok [capability imap4rev1 starttls xxxxxxxa] hi
1 ok done
* capability imap4rev1 XXXXXXXA
2 ok go
