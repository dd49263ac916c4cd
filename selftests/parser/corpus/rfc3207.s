a220 mail.imc.org SMTP service ready
250-mail.imc.org offers a warm hug of welcome
250-8BITMIME
250-STARTTLS
250 DSN
220 Go ahead
