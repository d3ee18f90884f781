-- name: RFM: Can't lose them
-- group: RFM
-- description: Formerly the most frequent buyers, silent for long: win them back whatever it takes.
-- needs: orders
rfm_segment = 'Can''t lose them'
