a220-mx.example.com ESMTP
220 second greeting line
250-mx.example.com Hello
250-AUTH=LOGIN PLAIN
250-starttls
250-SIZE
250 8BITMIME
250 2.0.0 Ok
250 2.0.0 Ok
220 2.0.0 Ready
