a220 mx ESMTP
454 4.7.0 TLS not available
250-mx
250 STARTTLS
354 go
